"""Tool-using environments (registered in the next commit)."""
