"""Results: results.jsonl / results.json (JSON Schema), the output directory, JUnit and pytest streams."""
