"""Execution: runs cells through isolated workers, memoises the reference, replays one case."""
