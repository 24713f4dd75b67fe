"""What the pages and the API share: errors as replies, numbers from URLs, hostile input refused
at the door, rights, labels, password hashes and API keys, the Idempotency-Key, and one path
each for tasks, cases and reported data."""
