"""Known-abuse media matching (capability 3): hash media, keep banks of known
hashes and URLs, and match against them. Only hashes are kept, never media.

- ``hashing``: PDQ + quality, MD5, SHA-256 of images; bad input refused clearly.
- ``video``: vPDQ frames of videos and the vPDQ match rule (optional extra).
- ``pdq_index``: :class:`PdqIndex`, an exact multi-index-hashing PDQ index.
- ``signals``: the signal types a bank holds and how values are normalised.
- ``models`` / ``banks``: bank tables and the bank service (import, export...).
- ``importers``: one reader per list format (CSV, NCMEC XML, threatexchange, URLs).
- ``matching``: match hashes, images and videos against banks (cached indexes).
- ``urls``: URL normalisation and URL-list matching, in links or free text.
"""
