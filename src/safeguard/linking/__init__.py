"""Script linking: the same offender script sent across conversations and accounts.

Messages carrying a sextortion/coercion/grooming signal are fingerprinted with
MinHash over word shingles of their normalised text. Only the LSH band keys and
the compact signature are stored, never the text.
"""
