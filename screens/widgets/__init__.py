"""The widgets screens are built from: each owns one panel and reads its data from a store
snapshot or view handed to it, never by querying the store itself."""
