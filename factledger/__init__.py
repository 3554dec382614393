"""factledger: check news articles' numeric claims against the official figures they cite."""
