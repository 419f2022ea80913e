"""Local development and test tooling: start the platform's processes on embedded defaults."""
