/*
 * dms_link: MCU side of the DMS <-> ECU serial link protocol (see ../PROTOCOL.md).
 *
 * Portable C99: no malloc, no OS, no global state, no floating point. All buffers are caller-owned and
 * bounded by DMS_MAX_ENCODED_FRAME. Frame = COBS(header | payload | CRC-16/CCITT-FALSE) + 0x00.
 *
 * Typical ECU receive path (byte at a time, e.g. from a UART ISR ring buffer):
 *
 *     static dms_decoder_t dec;            dms_decoder_init(&dec);
 *     dms_frame_t f;
 *     if (dms_decoder_push(&dec, byte, &f) == DMS_DEC_FRAME) {
 *         if (f.msg_type == DMS_MSG_DRIVER_STATE) {
 *             dms_driver_state_t st;
 *             if (dms_unpack_driver_state(f.payload, f.length, &st) == 0) { ... }
 *         }
 *     }
 *
 * Transmit path:
 *
 *     uint8_t payload[DMS_VEHICLE_SIGNALS_SIZE], wire[DMS_MAX_ENCODED_FRAME + 1];
 *     size_t n = dms_pack_vehicle_signals(&vs, payload, sizeof payload);
 *     size_t w = dms_frame_encode(version, DMS_MSG_VEHICLE_SIGNALS, seq++, payload, n, wire, sizeof wire);
 *     uart_write(wire, w);    (optionally send one 0x00 before it to flush receiver garbage)
 */
#ifndef DMS_LINK_H
#define DMS_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "dms_link_msgs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF (pass DMS_CRC16_INIT), no reflection, xorout 0.
 * Chainable: crc = dms_crc16(crc, part, n). check("123456789") == 0x29B1. */
#define DMS_CRC16_INIT 0xFFFFu
uint16_t dms_crc16(uint16_t crc, const uint8_t *data, size_t len);

/* COBS encode len bytes into out (no delimiter appended). Returns the encoded length, or 0 if cap is too
 * small (the encoded length is at most len + len/254 + 1). in and out must not overlap. */
size_t dms_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Strict COBS decode of len bytes (without delimiter) into out. Returns the decoded length, or -1 if the input
 * is malformed (zero byte, block past the end) or does not fit in cap. */
int dms_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* A frame that passed COBS, CRC and length checks. */
typedef struct {
    uint8_t version;
    uint8_t msg_type;
    uint16_t seq;
    uint8_t length;                      /* payload length */
    uint8_t payload[DMS_MAX_PAYLOAD];
} dms_frame_t;

/* Encode a full wire frame (COBS + trailing 0x00) into out. Returns bytes written, or 0 if payload_len >
 * DMS_MAX_PAYLOAD, payload is NULL with payload_len > 0, or cap is too small (DMS_MAX_ENCODED_FRAME + 1 always
 * suffices). */
size_t dms_frame_encode(uint8_t version, uint8_t msg_type, uint16_t seq, const uint8_t *payload,
                        size_t payload_len, uint8_t *out, size_t cap);

/* Decoder results. Errors mean "a chunk between two delimiters was dropped"; decoding continues. */
typedef enum {
    DMS_DEC_NONE = 0,            /* byte consumed, no frame yet */
    DMS_DEC_FRAME = 1,           /* *out holds a good frame */
    DMS_DEC_ERR_COBS = -1,       /* malformed COBS */
    DMS_DEC_ERR_CRC = -2,        /* CRC mismatch */
    DMS_DEC_ERR_LENGTH = -3,     /* too short for header+CRC, or length field != payload length */
    DMS_DEC_ERR_OVERSIZE = -4    /* more than DMS_MAX_ENCODED_FRAME bytes before a delimiter */
} dms_dec_result_t;

typedef struct {
    uint32_t bytes_in;
    uint32_t frames;
    uint32_t cobs_errors;
    uint32_t crc_errors;
    uint32_t length_errors;
    uint32_t oversize;
} dms_decoder_stats_t;

/* Streaming decoder state: ~80 bytes + stats; one per serial port. */
typedef struct {
    uint8_t buf[DMS_MAX_ENCODED_FRAME];
    size_t n;
    uint8_t overflow;
    dms_decoder_stats_t stats;
} dms_decoder_t;

void dms_decoder_init(dms_decoder_t *dec);
/* Forget a partial frame (e.g. after a UART framing error); counters are kept. */
void dms_decoder_reset(dms_decoder_t *dec);
/* Feed one received byte. On DMS_DEC_FRAME, *out is filled; otherwise *out is untouched. */
dms_dec_result_t dms_decoder_push(dms_decoder_t *dec, uint8_t byte, dms_frame_t *out);
/* Decode one complete encoded frame (delimiter optional) without a streaming decoder. */
dms_dec_result_t dms_frame_decode(const uint8_t *in, size_t len, dms_frame_t *out);

/* Highest version in both ranges, 0 if they do not overlap. */
uint8_t dms_select_version(uint8_t my_min, uint8_t my_max, uint8_t peer_min, uint8_t peer_max);

#ifdef __cplusplus
}
#endif
#endif /* DMS_LINK_H */
