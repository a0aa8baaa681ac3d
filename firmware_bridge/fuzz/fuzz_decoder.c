/* Fuzz driver for the dms_link decoders.
 *
 * LLVMFuzzerTestOneInput() is libFuzzer-compatible (build with clang -fsanitize=fuzzer -DDMS_LIBFUZZER).
 * Without libFuzzer, main() runs a deterministic mutation loop: N inputs made from valid frames (golden vectors and
 * random messages) by bit flips, byte drops/inserts, truncation, garbage, splices and hand-made frames whose length
 * field claims more than is there (up to 255, with a *valid* CRC), plus pure random bytes. Built with ASan+UBSan,
 * so any out-of-bounds access or UB aborts. Invariants checked on every input:
 *   1. the streaming decoder, the one-shot decoder and the message unpackers never touch memory they do not own;
 *   2. every delivered frame has length <= DMS_MAX_PAYLOAD and re-encodes to a frame that decodes to itself;
 *   3. resynchronisation: after the input, one 0x00 and a known good frame, that good frame is delivered;
 *   4. the decoder statistics add up (bytes counted, errors + frames <= delimiters seen).
 * Usage: fuzz_decoder [--n N] [--seed S]      prints inputs, frames, errors and time; exit 1 on a violation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dms_link.h"
#include "golden_vectors.h"

#define MAX_INPUT 1024u

static unsigned long long g_frames_delivered = 0;
static unsigned long long g_violations = 0;

static void violation(const char *what, const uint8_t *data, size_t len)
{
    size_t i;
    ++g_violations;
    fprintf(stderr, "VIOLATION: %s; input (%u bytes):", what, (unsigned)len);
    for (i = 0; i < len && i < 200; ++i) fprintf(stderr, " %02x", data[i]);
    fputc('\n', stderr);
    abort();
}

static void unpack_any(const dms_frame_t *f)
{
    /* exercise the message unpackers on whatever arrived (they must bound-check the length) */
    dms_hello_t h; dms_hello_ack_t a; dms_heartbeat_t hb; dms_error_t e; dms_driver_state_t ds;
    dms_vehicle_signals_t vs;
    (void)dms_unpack_hello(f->payload, f->length, &h);
    (void)dms_unpack_hello_ack(f->payload, f->length, &a);
    (void)dms_unpack_heartbeat(f->payload, f->length, &hb);
    (void)dms_unpack_error(f->payload, f->length, &e);
    (void)dms_unpack_driver_state(f->payload, f->length, &ds);
    (void)dms_unpack_vehicle_signals(f->payload, f->length, &vs);
    (void)dms_msg_payload_size(f->msg_type);
    (void)dms_msg_name(f->msg_type);
}

static void check_frame(const dms_frame_t *f, const uint8_t *data, size_t len)
{
    uint8_t wire[DMS_MAX_ENCODED_FRAME + 1];
    dms_frame_t back;
    size_t w;
    if (f->length > DMS_MAX_PAYLOAD) violation("frame longer than DMS_MAX_PAYLOAD", data, len);
    w = dms_frame_encode(f->version, f->msg_type, f->seq, f->payload, f->length, wire, sizeof wire);
    if (w == 0) violation("delivered frame does not re-encode", data, len);
    if (dms_frame_decode(wire, w, &back) != DMS_DEC_FRAME || back.length != f->length ||
        back.seq != f->seq || back.msg_type != f->msg_type || memcmp(back.payload, f->payload, f->length) != 0)
        violation("re-encoded frame does not decode to itself", data, len);
    unpack_any(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const golden_vector_t *good = &GOLDEN_VECTORS[GOLDEN_N_VECTORS - 1u];   /* any known good frame */
    dms_decoder_t dec;
    dms_frame_t f;
    size_t i;
    uint32_t delimiters = 0, errors;
    uint8_t raw[DMS_MAX_RAW_FRAME];
    int good_seen = 0;
    dms_decoder_init(&dec);
    for (i = 0; i < len; ++i) {
        dms_dec_result_t r = dms_decoder_push(&dec, data[i], &f);
        if (data[i] == 0) ++delimiters;
        if (r == DMS_DEC_FRAME) {
            ++g_frames_delivered;
            check_frame(&f, data, len);
        }
    }
    errors = dec.stats.cobs_errors + dec.stats.crc_errors + dec.stats.length_errors + dec.stats.oversize;
    if (dec.stats.bytes_in != len || errors + dec.stats.frames > delimiters)
        violation("inconsistent decoder stats", data, len);
    /* resync: a delimiter, then a good frame */
    (void)dms_decoder_push(&dec, 0x00, &f);
    for (i = 0; i < good->frame_len; ++i) {
        if (dms_decoder_push(&dec, good->frame[i], &f) == DMS_DEC_FRAME)
            good_seen = (f.seq == good->seq && f.msg_type == good->msg_type && f.length == good->payload_len &&
                         memcmp(f.payload, good->payload, good->payload_len) == 0);
    }
    if (!good_seen) violation("no resync on the next good frame", data, len);
    /* one-shot decoder and raw COBS on the same bytes */
    if (dms_frame_decode(data, len, &f) == DMS_DEC_FRAME) check_frame(&f, data, len);
    (void)dms_cobs_decode(data, len, raw, sizeof raw);
    return 0;
}

#ifndef DMS_LIBFUZZER
static uint64_t g_state;
static uint32_t rnd(void) /* splitmix64 -> 32 bits */
{
    uint64_t z = (g_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static size_t append_frame(uint8_t *buf, size_t len, size_t cap)
{
    /* a valid frame: a golden vector or a random message of random type/size */
    uint8_t wire[DMS_MAX_ENCODED_FRAME + 1], payload[DMS_MAX_PAYLOAD];
    size_t w, k, plen;
    if (rnd() % 2 == 0) {
        const golden_vector_t *v = &GOLDEN_VECTORS[rnd() % GOLDEN_N_VECTORS];
        memcpy(wire, v->frame, v->frame_len);
        w = v->frame_len;
    } else {
        plen = rnd() % (DMS_MAX_PAYLOAD + 1u);
        for (k = 0; k < plen; ++k) payload[k] = (rnd() % 3 == 0) ? 0 : (uint8_t)rnd();
        w = dms_frame_encode((uint8_t)rnd(), (uint8_t)rnd(), (uint16_t)rnd(), payload, plen, wire, sizeof wire);
    }
    if (len + w > cap) return len;
    memcpy(buf + len, wire, w);
    return len + w;
}

static size_t lying_length_frame(uint8_t *buf, size_t len, size_t cap)
{
    /* header claims `claimed` payload bytes but carries `actual`; the CRC is valid, so only the length check saves
     * the receiver. Also raw frames longer than the maximum (oversize). */
    uint8_t raw[400], enc[420];
    size_t actual = rnd() % 300u, k, n;
    uint16_t crc;
    raw[0] = 1; raw[1] = (uint8_t)rnd(); raw[2] = (uint8_t)rnd(); raw[3] = (uint8_t)rnd();
    raw[4] = (uint8_t)(rnd() % 2 ? rnd() : (uint32_t)actual);
    for (k = 0; k < actual; ++k) raw[5 + k] = (uint8_t)rnd();
    crc = dms_crc16(DMS_CRC16_INIT, raw, 5 + actual);
    raw[5 + actual] = (uint8_t)(crc & 0xFFu);
    raw[6 + actual] = (uint8_t)(crc >> 8);
    n = dms_cobs_encode(raw, 7 + actual, enc, sizeof enc);
    if (n == 0 || len + n + 1 > cap) return len;
    memcpy(buf + len, enc, n);
    buf[len + n] = 0;
    return len + n + 1;
}

static size_t make_input(uint8_t *buf, size_t cap)
{
    size_t len = 0, k, parts = 1 + rnd() % 4u, m, muts;
    for (k = 0; k < parts; ++k) {
        switch (rnd() % 6u) {
        case 0: case 1: case 2: len = append_frame(buf, len, cap); break;
        case 3: len = lying_length_frame(buf, len, cap); break;
        case 4: {                                                  /* random garbage */
            size_t g = rnd() % 80u;
            while (g-- && len < cap) buf[len++] = (uint8_t)rnd();
            break;
        }
        default: {                                                 /* long run without 0x00 (oversize) */
            size_t g = rnd() % 400u;
            uint8_t b = (uint8_t)(1u + rnd() % 255u);
            while (g-- && len < cap) buf[len++] = b;
            break;
        }
        }
    }
    muts = rnd() % 5u;
    for (m = 0; m < muts && len > 0; ++m) {
        size_t pos = rnd() % len;
        switch (rnd() % 5u) {
        case 0: buf[pos] ^= (uint8_t)(1u << (rnd() % 8u)); break;                              /* bit flip */
        case 1: memmove(buf + pos, buf + pos + 1, len - pos - 1); --len; break;                /* drop */
        case 2: if (len < cap) { memmove(buf + pos + 1, buf + pos, len - pos); buf[pos] = (uint8_t)rnd(); ++len; } break;
        case 3: len = pos; break;                                                              /* truncate */
        default: buf[pos] = (uint8_t)rnd(); break;                                             /* overwrite */
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    unsigned long long n = 100000ull, seed = 1ull, i;
    static uint8_t buf[MAX_INPUT];
    clock_t t0;
    double secs;
    int a;
    for (a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--n") == 0) n = strtoull(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "--seed") == 0) seed = strtoull(argv[a + 1], NULL, 10);
    }
    g_state = seed;
    t0 = clock();
    for (i = 0; i < n; ++i) {
        size_t len;
        if (i % 8u == 7u) {                      /* pure random bytes */
            size_t k;
            len = rnd() % MAX_INPUT;
            for (k = 0; k < len; ++k) buf[k] = (uint8_t)rnd();
        } else {
            len = make_input(buf, sizeof buf);
        }
        (void)LLVMFuzzerTestOneInput(buf, len);
    }
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("fuzz_decoder: %llu inputs, %llu frames delivered, %llu violations, %.1f s CPU (seed %llu)\n", n,
           g_frames_delivered, g_violations, secs, seed);
    return g_violations == 0 ? 0 : 1;
}
#endif
