"""Host side of the DMS <-> ECU serial link.

Owns: the wire codec (``codec``: CRC-16/CCITT-FALSE, COBS framing, message packing, a streaming decoder that
resynchronises after garbage), the mapping between wire values and ``dms.contracts`` records (``mapping``), the
threaded link to the ECU (``link.EcuLink``: version negotiation, heartbeats, silent-ECU detection, reconnect) and
the ECU simulator (``ecu_sim``). The protocol itself is defined once in ``firmware_bridge/protocol.json``;
``_protocol.py`` is generated from it.

May import: stdlib (``codec``, ``_protocol``: stdlib only, importable without pyserial), ``dms.contracts``
(``mapping``), ``dms.errors``; pyserial only inside ``link`` and ``ecu_sim`` and only when a port is opened.
"""
from dms.bridge.codec import (MAX_ENCODED_FRAME, MAX_PAYLOAD, VERSION_MAX, VERSION_MIN, CodecError, DecoderStats,
                              Frame, FrameDecoder, MsgType, cobs_decode, cobs_encode, crc16, decode_frame,
                              encode_frame, encode_message)

__all__ = ["MAX_ENCODED_FRAME", "MAX_PAYLOAD", "VERSION_MAX", "VERSION_MIN", "CodecError", "DecoderStats", "Frame",
           "FrameDecoder", "MsgType", "cobs_decode", "cobs_encode", "crc16", "decode_frame", "encode_frame",
           "encode_message", "EcuLink"]


def __getattr__(name: str):
    if name == "EcuLink":  # lazy: keeps `import dms.bridge` free of threads and pyserial
        from dms.bridge.link import EcuLink
        return EcuLink
    raise AttributeError(name)
