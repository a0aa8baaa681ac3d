"""Frame sources and result sinks.

Owns: sources (OpenCV cameras incl. V4L2 GREY/Y8/Y16 NIR, video files, image folders, simulator sequences,
reconnect with back-off) and sinks (overlay window / annotated video, JSONL of states and events, session
timeline PNG, ECU link), plus the overlay drawing. May import: numpy, OpenCV, matplotlib (Agg, timeline only),
dms.contracts, dms.data, dms.bridge (lazily, ECU sink). Never dms.runtime at import time (the runtime imports io).
"""
