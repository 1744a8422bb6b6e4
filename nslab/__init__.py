"""nslab: reproducible, self-verifying Docker user-namespace labs."""
