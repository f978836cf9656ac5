"""How long a WAV or an MP3 plays, read from its header or its frames: no decoder, nothing loaded.

An MP3's length is the sum of its frames' durations. Encoders put a "Xing"/"Info" frame first (silent, not part of
the audio) and LAME's tag in it says how many samples of encoder delay and padding to drop: those are taken off, so
the figure matches what a gapless decoder (libsndfile, browsers) plays to within a frame.
"""

from __future__ import annotations

import struct

def audio_seconds(data: bytes) -> float | None:
    """How long a WAV or an MP3 plays, from its header or its frames; None for another format."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav_seconds(data)
    return _mp3_seconds(data)


def _wav_seconds(data: bytes) -> float | None:
    position, byte_rate = 12, None
    while position + 8 <= len(data):
        name, size = data[position:position + 4], struct.unpack_from("<I", data, position + 4)[0]
        if name == b"fmt " and size >= 16:
            byte_rate = struct.unpack_from("<I", data, position + 16)[0]
        elif name == b"data":
            size = min(size, len(data) - position - 8)  # streamed WAVs leave the size at 0xFFFFFFFF
            return size / byte_rate if byte_rate else None
        position += 8 + size + (size & 1)
    return None


# MPEG audio: kbit/s by (MPEG-1?, layer) and index; sample rates by version bits; samples per frame.
_L1_V1 = (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448)
_L2_V1 = (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384)
_L3_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_L1_V2 = (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256)
_L23_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_BITRATES = {(True, 1): _L1_V1, (True, 2): _L2_V1, (True, 3): _L3_V1,
             (False, 1): _L1_V2, (False, 2): _L23_V2, (False, 3): _L23_V2}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_seconds(data: bytes) -> float | None:
    position = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # an ID3v2 tag first: its size is "syncsafe", 7 bits a byte
        size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
        position = 10 + size + (10 if data[5] & 0x10 else 0)
    seconds, frames, trimmed = 0.0, 0, 0
    while position + 4 <= len(data):
        header = int.from_bytes(data[position:position + 4], "big")
        version, layer = (header >> 19) & 3, 4 - ((header >> 17) & 3)
        bitrate_index, rate_index, padding = (header >> 12) & 15, (header >> 10) & 3, (header >> 9) & 1
        if header >> 21 != 0x7FF or version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
            break  # not a frame (a trailing tag, or not MP3 at all)
        mpeg1 = version == 3
        bitrate, rate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000, _RATES[version][rate_index]
        if layer == 1:
            length, samples = (12 * bitrate // rate + padding) * 4, 384
        else:
            samples = 1152 if layer == 2 or mpeg1 else 576
            length = samples // 8 * bitrate // rate + padding
        info = _info_tag(data[position:position + length], mpeg1, (header >> 6) & 3 == 3) if not frames else None
        if info is None:
            seconds += samples / rate
        else:
            trimmed = info / rate
        frames += 1
        position += length
    return max(seconds - trimmed, 0.0) if frames >= 2 else None


def _info_tag(frame: bytes, mpeg1: bool, mono: bool) -> int | None:
    """The samples to drop when `frame` is a Xing/Info frame (its LAME delay + padding, or 0); None otherwise."""
    offset = 4 + (17 if mpeg1 and mono else 32 if mpeg1 else 9 if mono else 17)  # after the side information
    if frame[offset:offset + 4] not in (b"Xing", b"Info"):
        return None
    flags = int.from_bytes(frame[offset + 4:offset + 8], "big")
    lame = offset + 8 + sum(size for bit, size in ((1, 4), (2, 4), (4, 100), (8, 4)) if flags & bit)
    if frame[lame:lame + 4] != b"LAME" or len(frame) < lame + 24:
        return 0
    delay_padding = int.from_bytes(frame[lame + 21:lame + 24], "big")
    return (delay_padding >> 12) + (delay_padding & 0xFFF)
