"""The spec fuzzer (issue 14): mutants of the bundled specs through every command."""
