"""The Confluent Schema Registry framing of a protobuf record value.

    byte 0      magic byte, always 0
    bytes 1-4   schema id, big-endian
    then        message indexes: zig-zag varint count, then that many zig-zag varints;
                the single byte 0x00 is the shortcut for [0] (the file's first message)
    then        the protobuf-encoded message

The producer uses confluent-kafka's serializer to write it; this module exists so that
tests can check that serializer's bytes against golden vectors shared with the Scala
consumer, and can craft bad records on purpose.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC_BYTE = 0


class WireFormatError(ValueError):
    """A record value that is not a valid Confluent protobuf frame."""


@dataclass(frozen=True)
class Frame:
    schema_id: int
    message_indexes: tuple[int, ...]
    payload: bytes


def _zigzag_varint(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_zigzag_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = 0
    result = 0
    while True:
        if pos >= len(buf):
            raise WireFormatError("message-index varint runs past the end of the record")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise WireFormatError("message-index varint is longer than 10 bytes")
    return (result >> 1) ^ -(result & 1), pos


def header(schema_id: int, message_indexes: tuple[int, ...] = (0,), shortcut: bool = True) -> bytes:
    """The bytes before the protobuf payload; [0] uses the one-byte shortcut unless told not to."""
    if not 0 <= schema_id < 2**31:
        raise ValueError(f"schema id out of range: {schema_id}")
    out = struct.pack(">bI", MAGIC_BYTE, schema_id)
    if shortcut and tuple(message_indexes) == (0,):
        return out + b"\x00"
    return out + _zigzag_varint(len(message_indexes)) + b"".join(_zigzag_varint(i) for i in message_indexes)


def frame(schema_id: int, payload: bytes, message_indexes: tuple[int, ...] = (0,), shortcut: bool = True) -> bytes:
    """A complete record value."""
    return header(schema_id, message_indexes, shortcut) + payload


def parse(value: bytes | None) -> Frame:
    """Splits a record value into schema id, message indexes and payload."""
    if value is None:
        raise WireFormatError("record value is null")
    if len(value) < 6:
        raise WireFormatError(f"record value is {len(value)} bytes, shorter than the 6-byte minimum frame")
    if value[0] != MAGIC_BYTE:
        raise WireFormatError(f"magic byte is {value[0]}, expected {MAGIC_BYTE}")
    schema_id = struct.unpack_from(">I", value, 1)[0]
    count, pos = _read_zigzag_varint(value, 5)
    if count == 0:
        return Frame(schema_id, (0,), bytes(value[pos:]))
    if count < 0 or count > 64:
        raise WireFormatError(f"message-index count {count} is out of range")
    indexes = []
    for _ in range(count):
        index, pos = _read_zigzag_varint(value, pos)
        if index < 0:
            raise WireFormatError(f"negative message index {index}")
        indexes.append(index)
    return Frame(schema_id, tuple(indexes), bytes(value[pos:]))
