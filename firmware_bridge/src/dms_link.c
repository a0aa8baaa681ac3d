/* dms_link: framing, CRC and streaming decoder of the DMS <-> ECU link. C99, no malloc, no OS. */
#include "dms_link.h"

#include <string.h>

uint16_t dms_crc16(uint16_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    int bit;
    if (data == NULL) return crc;
    for (i = 0; i < len; ++i) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (bit = 0; bit < 8; ++bit) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

size_t dms_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t r = 0;          /* read index */
    size_t code_pos = 0;   /* where the current block's code byte goes */
    size_t w = 1;          /* write index */
    uint8_t code = 1;
    int ended_full = 0;
    if (out == NULL || cap == 0 || (in == NULL && len > 0)) return 0;
    while (r < len) {
        uint8_t b = in[r++];
        ended_full = 0;
        if (b == 0) {
            out[code_pos] = code;
            code = 1;
            code_pos = w;
            if (w >= cap) return 0;
            ++w;
        } else {
            if (w >= cap) return 0;
            out[w++] = b;
            ++code;
            if (code == 0xFFu) {
                out[code_pos] = code;
                code = 1;
                ended_full = 1;
                code_pos = w;
                if (r < len) {          /* start a new block only if more input follows */
                    if (w >= cap) return 0;
                    ++w;
                }
            }
        }
    }
    if (ended_full) return w;     /* like the reference encoder: no code byte after a final full block */
    out[code_pos] = code;
    return w;
}

int dms_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t i = 0, w = 0, j;
    if ((in == NULL && len > 0) || (out == NULL && cap > 0)) return -1;
    while (i < len) {
        uint8_t code = in[i];
        if (code == 0) return -1;
        if ((size_t)code > len - i) return -1;            /* block runs past the end */
        for (j = 1; j < code; ++j) {
            uint8_t b = in[i + j];
            if (b == 0) return -1;
            if (w >= cap) return -1;
            out[w++] = b;
        }
        i += code;
        if (code != 0xFFu && i < len) {
            if (w >= cap) return -1;
            out[w++] = 0;
        }
    }
    return (int)w;
}

size_t dms_frame_encode(uint8_t version, uint8_t msg_type, uint16_t seq, const uint8_t *payload,
                        size_t payload_len, uint8_t *out, size_t cap)
{
    uint8_t raw[DMS_MAX_RAW_FRAME];
    size_t raw_len, enc;
    uint16_t crc;
    if (payload_len > DMS_MAX_PAYLOAD || (payload == NULL && payload_len > 0) || out == NULL || cap < 2) return 0;
    raw[0] = version;
    raw[1] = msg_type;
    raw[2] = (uint8_t)(seq & 0xFFu);
    raw[3] = (uint8_t)(seq >> 8);
    raw[4] = (uint8_t)payload_len;
    if (payload_len > 0) memcpy(raw + DMS_HEADER_SIZE, payload, payload_len);
    raw_len = DMS_HEADER_SIZE + payload_len;
    crc = dms_crc16(DMS_CRC16_INIT, raw, raw_len);
    raw[raw_len++] = (uint8_t)(crc & 0xFFu);
    raw[raw_len++] = (uint8_t)(crc >> 8);
    enc = dms_cobs_encode(raw, raw_len, out, cap - 1);
    if (enc == 0) return 0;
    out[enc] = 0x00u;
    return enc + 1;
}

/* Check a COBS-decoded frame and copy it out. */
static dms_dec_result_t check_raw(const uint8_t *raw, size_t raw_len, dms_frame_t *out)
{
    uint16_t crc_rx;
    size_t payload_len;
    if (raw_len < DMS_HEADER_SIZE + DMS_CRC_SIZE) return DMS_DEC_ERR_LENGTH;
    crc_rx = (uint16_t)(raw[raw_len - 2] | ((uint16_t)raw[raw_len - 1] << 8));
    if (dms_crc16(DMS_CRC16_INIT, raw, raw_len - DMS_CRC_SIZE) != crc_rx) return DMS_DEC_ERR_CRC;
    payload_len = raw_len - DMS_HEADER_SIZE - DMS_CRC_SIZE;
    if (raw[4] != payload_len || payload_len > DMS_MAX_PAYLOAD) return DMS_DEC_ERR_LENGTH;
    if (out != NULL) {
        out->version = raw[0];
        out->msg_type = raw[1];
        out->seq = (uint16_t)(raw[2] | ((uint16_t)raw[3] << 8));
        out->length = (uint8_t)payload_len;
        memset(out->payload, 0, sizeof out->payload);
        if (payload_len > 0) memcpy(out->payload, raw + DMS_HEADER_SIZE, payload_len);
    }
    return DMS_DEC_FRAME;
}

dms_dec_result_t dms_frame_decode(const uint8_t *in, size_t len, dms_frame_t *out)
{
    uint8_t raw[DMS_MAX_RAW_FRAME];
    int raw_len;
    if (in == NULL) return DMS_DEC_ERR_LENGTH;
    if (len > 0 && in[len - 1] == 0x00u) --len;
    if (len > DMS_MAX_ENCODED_FRAME) return DMS_DEC_ERR_OVERSIZE;
    raw_len = dms_cobs_decode(in, len, raw, sizeof raw);
    if (raw_len < 0) return DMS_DEC_ERR_COBS;
    return check_raw(raw, (size_t)raw_len, out);
}

void dms_decoder_init(dms_decoder_t *dec)
{
    if (dec == NULL) return;
    memset(dec, 0, sizeof *dec);
}

void dms_decoder_reset(dms_decoder_t *dec)
{
    if (dec == NULL) return;
    dec->n = 0;
    dec->overflow = 0;
}

dms_dec_result_t dms_decoder_push(dms_decoder_t *dec, uint8_t byte, dms_frame_t *out)
{
    uint8_t raw[DMS_MAX_RAW_FRAME];
    int raw_len;
    dms_frame_t tmp;
    dms_dec_result_t res;
    if (dec == NULL) return DMS_DEC_NONE;
    dec->stats.bytes_in++;
    if (byte != 0x00u) {
        if (dec->overflow) return DMS_DEC_NONE;
        if (dec->n >= sizeof dec->buf) {
            dec->overflow = 1;
            dec->n = 0;
            return DMS_DEC_NONE;
        }
        dec->buf[dec->n++] = byte;
        return DMS_DEC_NONE;
    }
    /* delimiter: finish the chunk */
    if (dec->overflow) {
        dms_decoder_reset(dec);
        dec->stats.oversize++;
        return DMS_DEC_ERR_OVERSIZE;
    }
    if (dec->n == 0) return DMS_DEC_NONE;
    raw_len = dms_cobs_decode(dec->buf, dec->n, raw, sizeof raw);
    dms_decoder_reset(dec);
    if (raw_len < 0) {
        dec->stats.cobs_errors++;
        return DMS_DEC_ERR_COBS;
    }
    res = check_raw(raw, (size_t)raw_len, &tmp);
    switch (res) {
    case DMS_DEC_FRAME:
        dec->stats.frames++;
        if (out != NULL) *out = tmp;
        break;
    case DMS_DEC_ERR_CRC:
        dec->stats.crc_errors++;
        break;
    default:
        dec->stats.length_errors++;
        break;
    }
    return res;
}

uint8_t dms_select_version(uint8_t my_min, uint8_t my_max, uint8_t peer_min, uint8_t peer_max)
{
    uint8_t lo = my_min > peer_min ? my_min : peer_min;
    uint8_t hi = my_max < peer_max ? my_max : peer_max;
    if (lo < 1u) lo = 1u;
    return hi >= lo ? hi : 0u;
}
