"""Streaming input readers: JSONL messages, PAN 2012 XML, and CSV text records."""

from safeguard.ingest.csv_records import read_csv_records
from safeguard.ingest.formats import MAX_TEXT_CHARS, detect_format, read_messages
from safeguard.ingest.jsonl import read_jsonl
from safeguard.ingest.pan12 import read_pan12, read_predator_ids
from safeguard.ingest.records import AGE_BANDS, BadInputReport, Message, TextRecord

__all__ = [
    "AGE_BANDS",
    "MAX_TEXT_CHARS",
    "BadInputReport",
    "Message",
    "TextRecord",
    "detect_format",
    "read_csv_records",
    "read_jsonl",
    "read_messages",
    "read_pan12",
    "read_predator_ids",
]
