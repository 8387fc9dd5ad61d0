"""Core types, error codes and injectable edges shared by every layer."""
