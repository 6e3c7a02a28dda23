"""The embedded CPU backends (``local``): implementations of the roles that need no server or GPU."""
