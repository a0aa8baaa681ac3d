/* decode_stream: run the C streaming decoder over stdin and print what it delivers, one line per frame:
 *     F <version> <msg_type> <seq> <payload hex or ->
 * and a last line with the counters:
 *     S <bytes_in> <frames> <cobs_errors> <crc_errors> <length_errors> <oversize>
 * Used by tests/bridge to check that the Python FrameDecoder and the C decoder agree on arbitrary streams. */
#include <stdio.h>

#include "dms_link.h"

int main(void)
{
    dms_decoder_t dec;
    dms_frame_t f;
    int c;
    unsigned i;
    dms_decoder_init(&dec);
    while ((c = getchar()) != EOF) {
        if (dms_decoder_push(&dec, (uint8_t)c, &f) == DMS_DEC_FRAME) {
            printf("F %u %u %u ", (unsigned)f.version, (unsigned)f.msg_type, (unsigned)f.seq);
            if (f.length == 0) putchar('-');
            for (i = 0; i < f.length; ++i) printf("%02x", f.payload[i]);
            putchar('\n');
        }
    }
    printf("S %lu %lu %lu %lu %lu %lu\n", (unsigned long)dec.stats.bytes_in, (unsigned long)dec.stats.frames,
           (unsigned long)dec.stats.cobs_errors, (unsigned long)dec.stats.crc_errors,
           (unsigned long)dec.stats.length_errors, (unsigned long)dec.stats.oversize);
    return 0;
}
