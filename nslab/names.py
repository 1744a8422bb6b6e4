"""Patterns for names that reach shell commands: quoted there too, but refused here when odd."""
SLUG = r"^[a-z0-9][a-z0-9-]*$"
CONTAINER_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$"
IMAGE_REF = r"^[a-z0-9][a-z0-9._/:@-]{0,254}$"
USER_NAME = r"^[a-z_][a-z0-9_-]{0,30}$"
PROGRAM_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$"
# An absolute path inside a container (it also names a fact file); `..` is refused where it is used.
CONTAINER_PATH = r"^/[A-Za-z0-9._/-]{0,254}$"
