"""Wire models shared by several services (services never import each other)."""
