"""Curation: identity clustering, sorting and filters over extracted faces."""
