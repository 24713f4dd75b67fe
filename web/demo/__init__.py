"""The demo: Shaoxing's counties, enterprises and accounts, and cases in every lifecycle."""
