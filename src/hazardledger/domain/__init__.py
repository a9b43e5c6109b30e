"""Pure domain: vocabularies, entities, layer schemas and validation. No I/O."""
