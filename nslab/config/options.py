"""Choices a user passes on the command line, known without loading any machine layer."""

DESTROY_POLICIES = {
    "on-error": "destroy only when the run broke (error, Ctrl-C); keep it after a completed run",
    "always": "destroy after the run",
    "never": "keep the machine whatever happens",
    "passing": "destroy when every verdict passed; keep a failing machine to inspect",
}
