"""What factledger computes. Every module here is loaded by orchestration/definitions.py."""
