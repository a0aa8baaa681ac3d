/* Host unit tests of the dms_link C library against the golden vectors (tests/golden_vectors.h, generated from
 * golden/vectors.json). Built with ASan+UBSan by `make test`; exits non-zero on any failure. */
#include <stdio.h>
#include <string.h>

#include "dms_link.h"
#include "golden_vectors.h"

static int g_checks = 0;
static int g_failures = 0;

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        ++g_checks;                                                                       \
        if (!(cond)) {                                                                    \
            ++g_failures;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
        }                                                                                 \
    } while (0)

static uint32_t g_rng = 0x12345678u;
static uint32_t rnd(void) /* xorshift32: deterministic */
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

static void test_crc(void)
{
    const uint8_t check[] = "123456789";
    CHECK(dms_crc16(DMS_CRC16_INIT, check, 9) == 0x29B1u, "crc=%04x", dms_crc16(DMS_CRC16_INIT, check, 9));
    /* chaining equals one pass */
    CHECK(dms_crc16(dms_crc16(DMS_CRC16_INIT, check, 4), check + 4, 5) == 0x29B1u, "chained crc");
    CHECK(dms_crc16(DMS_CRC16_INIT, NULL, 0) == DMS_CRC16_INIT, "empty crc");
}

static void test_cobs(void)
{
    size_t i;
    uint8_t enc[300], dec[300];
    for (i = 0; i < GOLDEN_N_COBS; ++i) {
        const golden_cobs_t *c = &GOLDEN_COBS[i];
        size_t n = dms_cobs_encode(c->raw, c->raw_len, enc, sizeof enc);
        int m;
        CHECK(n == c->enc_len && memcmp(enc, c->enc, n) == 0, "cobs vector %u encode (len %u vs %u)",
              (unsigned)i, (unsigned)n, (unsigned)c->enc_len);
        CHECK(memchr(enc, 0, n) == NULL, "cobs vector %u: encoded contains 0x00", (unsigned)i);
        m = dms_cobs_decode(c->enc, c->enc_len, dec, sizeof dec);
        CHECK(m == (int)c->raw_len && (c->raw_len == 0 || memcmp(dec, c->raw, c->raw_len) == 0),
              "cobs vector %u decode (len %d)", (unsigned)i, m);
        /* every output buffer one byte too small is refused, never overrun (ASan checks the overrun) */
        if (c->enc_len > 0) CHECK(dms_cobs_encode(c->raw, c->raw_len, enc, c->enc_len - 1) == 0, "cobs cap %u", (unsigned)i);
        if (c->raw_len > 0) CHECK(dms_cobs_decode(c->enc, c->enc_len, dec, c->raw_len - 1) == -1, "decode cap %u", (unsigned)i);
    }
    {
        const uint8_t bad1[] = {0x05, 0x11, 0x22};     /* block past the end */
        const uint8_t bad2[] = {0x03, 0x11, 0x00};     /* zero inside a block */
        const uint8_t bad3[] = {0x00};                 /* zero code */
        CHECK(dms_cobs_decode(bad1, sizeof bad1, dec, sizeof dec) == -1, "cobs past end");
        CHECK(dms_cobs_decode(bad2, sizeof bad2, dec, sizeof dec) == -1, "cobs zero in block");
        CHECK(dms_cobs_decode(bad3, sizeof bad3, dec, sizeof dec) == -1, "cobs zero code");
    }
    /* random round trips, lengths 0..600 */
    for (i = 0; i < 2000; ++i) {
        uint8_t raw[600], e[700], d[600];
        size_t len = rnd() % sizeof raw, k, n;
        int m;
        for (k = 0; k < len; ++k) raw[k] = (rnd() % 4 == 0) ? 0 : (uint8_t)rnd();
        n = dms_cobs_encode(raw, len, e, sizeof e);
        CHECK(n > 0 && n <= len + len / 254 + 1, "cobs random encode len %u -> %u", (unsigned)len, (unsigned)n);
        CHECK(memchr(e, 0, n) == NULL, "cobs random: zero in output");
        m = dms_cobs_decode(e, n, d, sizeof d);
        CHECK(m == (int)len && memcmp(d, raw, len) == 0, "cobs random round trip len %u", (unsigned)len);
    }
}

static void test_golden_vectors(void)
{
    size_t i, k;
    for (i = 0; i < GOLDEN_N_VECTORS; ++i) {
        const golden_vector_t *v = &GOLDEN_VECTORS[i];
        uint8_t payload[DMS_MAX_PAYLOAD], wire[DMS_MAX_ENCODED_FRAME + 1];
        size_t n = golden_pack(i, payload, sizeof payload), w;
        dms_frame_t f;
        dms_decoder_t dec;
        int frames = 0;
        CHECK(n == v->payload_len && memcmp(payload, v->payload, n) == 0, "%s: packed payload differs", v->name);
        CHECK((int)v->payload_len == dms_msg_payload_size(v->msg_type), "%s: payload size", v->name);
        CHECK(golden_pack(i, payload, v->payload_len - 1) == 0, "%s: pack with small cap must fail", v->name);
        w = dms_frame_encode(v->version, v->msg_type, v->seq, v->payload, v->payload_len, wire, sizeof wire);
        CHECK(w == v->frame_len && memcmp(wire, v->frame, w) == 0, "%s: encoded frame differs", v->name);
        CHECK(dms_frame_encode(v->version, v->msg_type, v->seq, v->payload, v->payload_len, wire, v->frame_len - 1) == 0,
              "%s: frame encode with small cap must fail", v->name);
        memset(&f, 0, sizeof f);
        CHECK(dms_frame_decode(v->frame, v->frame_len, &f) == DMS_DEC_FRAME, "%s: frame_decode", v->name);
        CHECK(f.version == v->version && f.msg_type == v->msg_type && f.seq == v->seq && f.length == v->payload_len &&
              memcmp(f.payload, v->payload, v->payload_len) == 0, "%s: decoded header/payload", v->name);
        CHECK(golden_unpack_matches(i, f.payload, f.length), "%s: unpacked fields differ", v->name);
        CHECK(dms_unpack_hello(f.payload, (size_t)f.length + 1u, NULL) == -1, "%s: unpack NULL/len", v->name);
        /* streaming, byte by byte */
        dms_decoder_init(&dec);
        memset(&f, 0, sizeof f);
        for (k = 0; k < v->frame_len; ++k) {
            dms_dec_result_t r = dms_decoder_push(&dec, v->frame[k], &f);
            if (r == DMS_DEC_FRAME) ++frames;
            CHECK(r == DMS_DEC_FRAME || r == DMS_DEC_NONE, "%s: stream error %d", v->name, (int)r);
        }
        CHECK(frames == 1 && f.seq == v->seq && f.msg_type == v->msg_type, "%s: stream decode", v->name);
        /* every single bit flip is rejected and the next good frame is still decoded */
        for (k = 0; k + 1 < v->frame_len; ++k) {
            int bit;
            for (bit = 0; bit < 8; ++bit) {
                size_t j;
                int got = 0, good_last = 0;
                uint8_t bad[DMS_MAX_ENCODED_FRAME + 1];
                memcpy(bad, v->frame, v->frame_len);
                bad[k] ^= (uint8_t)(1u << bit);
                dms_decoder_init(&dec);
                for (j = 0; j < v->frame_len; ++j) {
                    if (dms_decoder_push(&dec, bad[j], &f) == DMS_DEC_FRAME) ++got;
                }
                for (j = 0; j < v->frame_len; ++j) {
                    if (dms_decoder_push(&dec, v->frame[j], &f) == DMS_DEC_FRAME) { ++got; good_last = (f.seq == v->seq); }
                }
                CHECK(got == 1 && good_last, "%s: flip byte %u bit %d: %d frames", v->name, (unsigned)k, bit, got);
            }
        }
    }
}

static void test_streams(void)
{
    size_t i, k;
    for (i = 0; i < GOLDEN_N_STREAMS; ++i) {
        const golden_stream_t *s = &GOLDEN_STREAMS[i];
        dms_decoder_t dec;
        size_t got = 0;
        dms_decoder_init(&dec);
        for (k = 0; k < s->stream_len; ++k) {
            dms_frame_t f;
            if (dms_decoder_push(&dec, s->stream[k], &f) == DMS_DEC_FRAME) {
                if (got < s->n_frames) {
                    const golden_frame_t *e = &s->frames[got];
                    CHECK(f.version == e->version && f.msg_type == e->msg_type && f.seq == e->seq &&
                          f.length == e->payload_len && memcmp(f.payload, e->payload, e->payload_len) == 0,
                          "stream %s: frame %u differs", s->name, (unsigned)got);
                }
                ++got;
            }
        }
        CHECK(got == s->n_frames, "stream %s: %u frames, expected %u", s->name, (unsigned)got, (unsigned)s->n_frames);
        CHECK(memcmp(&dec.stats, &s->stats, sizeof dec.stats) == 0,
              "stream %s: stats differ (frames %u cobs %u crc %u len %u over %u)", s->name, (unsigned)dec.stats.frames,
              (unsigned)dec.stats.cobs_errors, (unsigned)dec.stats.crc_errors, (unsigned)dec.stats.length_errors,
              (unsigned)dec.stats.oversize);
    }
}

static void test_edges(void)
{
    uint8_t wire[DMS_MAX_ENCODED_FRAME + 1], big[DMS_MAX_PAYLOAD + 1];
    dms_frame_t f;
    dms_decoder_t dec;
    size_t i, w;
    dms_vehicle_signals_t vs, back;
    memset(big, 0xA5, sizeof big);
    CHECK(dms_frame_encode(1, DMS_MSG_HEARTBEAT, 0, big, DMS_MAX_PAYLOAD + 1u, wire, sizeof wire) == 0, "oversized payload");
    CHECK(dms_frame_encode(1, DMS_MSG_HEARTBEAT, 0, NULL, 3, wire, sizeof wire) == 0, "NULL payload");
    /* maximum payload of zeros (worst case for COBS growth is all non-zero; both fit the bound) */
    memset(big, 0, sizeof big);
    w = dms_frame_encode(1, 0x7Fu, 0xFFFFu, big, DMS_MAX_PAYLOAD, wire, sizeof wire);
    CHECK(w > 0 && w <= DMS_MAX_ENCODED_FRAME + 1u, "max zero payload encodes (%u)", (unsigned)w);
    CHECK(dms_frame_decode(wire, w, &f) == DMS_DEC_FRAME && f.length == DMS_MAX_PAYLOAD, "max zero payload decodes");
    memset(big, 0xFF, sizeof big);
    w = dms_frame_encode(0xFF, 0xFF, 0xFFFFu, big, DMS_MAX_PAYLOAD, wire, sizeof wire);
    CHECK(w > 0 && w <= DMS_MAX_ENCODED_FRAME + 1u, "max 0xFF payload encodes (%u)", (unsigned)w);
    CHECK(dms_frame_decode(wire, w, &f) == DMS_DEC_FRAME && f.length == DMS_MAX_PAYLOAD, "max 0xFF payload decodes");
    /* empty payload */
    w = dms_frame_encode(1, 0x42, 7, NULL, 0, wire, sizeof wire);
    CHECK(w > 0 && dms_frame_decode(wire, w, &f) == DMS_DEC_FRAME && f.length == 0 && f.msg_type == 0x42, "empty");
    /* oversize run, then a good frame */
    dms_decoder_init(&dec);
    for (i = 0; i < 1000; ++i) (void)dms_decoder_push(&dec, 0x01, &f);
    CHECK(dms_decoder_push(&dec, 0x00, &f) == DMS_DEC_ERR_OVERSIZE, "oversize reported");
    for (i = 0; i < w; ++i) (void)dms_decoder_push(&dec, wire[i], &f);
    CHECK(dec.stats.frames == 1 && dec.stats.oversize == 1 && f.msg_type == 0x42, "recovers after oversize");
    CHECK(dec.stats.bytes_in == 1001u + w, "bytes_in counted");
    /* exactly DMS_MAX_ENCODED_FRAME bytes is not oversize (it is a COBS/CRC error instead) */
    dms_decoder_init(&dec);
    for (i = 0; i < DMS_MAX_ENCODED_FRAME; ++i) (void)dms_decoder_push(&dec, 0x01, &f);
    CHECK(dms_decoder_push(&dec, 0x00, &f) != DMS_DEC_ERR_OVERSIZE, "limit is inclusive");
    /* signed field round trip */
    memset(&vs, 0, sizeof vs);
    vs.wheel_torque_nm_x100 = -32768;
    vs.speed_kph_x100 = 65535u;
    vs.t_ms = 0xFFFFFFFFu;
    CHECK(dms_pack_vehicle_signals(&vs, big, sizeof big) == DMS_VEHICLE_SIGNALS_SIZE, "pack vs");
    CHECK(dms_unpack_vehicle_signals(big, DMS_VEHICLE_SIGNALS_SIZE, &back) == 0 && back.wheel_torque_nm_x100 == -32768 &&
          back.speed_kph_x100 == 65535u && back.t_ms == 0xFFFFFFFFu, "vs round trip");
    CHECK(dms_unpack_vehicle_signals(big, DMS_VEHICLE_SIGNALS_SIZE - 1u, &back) == -1, "short payload refused");
    CHECK(dms_msg_payload_size(0xEE) == -1 && strcmp(dms_msg_name(0xEE), "?") == 0, "unknown type");
    CHECK(strcmp(dms_msg_name(DMS_MSG_DRIVER_STATE), "DRIVER_STATE") == 0, "type name");
    /* version negotiation */
    CHECK(dms_select_version(1, 1, 1, 1) == 1, "v 1/1");
    CHECK(dms_select_version(1, 3, 2, 5) == 3, "v overlap");
    CHECK(dms_select_version(1, 1, 2, 3) == 0, "v disjoint");
    CHECK(dms_select_version(0, 0, 0, 0) == 0, "v zero");
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_STATE "on"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_STATE "on"
#endif
#endif
#ifndef ASAN_STATE
#define ASAN_STATE "off"
#endif

int main(void)
{
    test_crc();
    test_cobs();
    test_golden_vectors();
    test_streams();
    test_edges();
    printf("dms_link C tests: %d checks, %d failures (%u golden vectors, %u streams, %u COBS vectors; ASan %s)\n",
           g_checks, g_failures, (unsigned)GOLDEN_N_VECTORS, (unsigned)GOLDEN_N_STREAMS, (unsigned)GOLDEN_N_COBS,
           ASAN_STATE);
    return g_failures == 0 ? 0 : 1;
}
