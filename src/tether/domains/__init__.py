"""Domain packs that ship with tether. Each is built on the public API only, and nothing in
the runtime, its services or its interfaces imports one (an import-linter contract checks it)."""
