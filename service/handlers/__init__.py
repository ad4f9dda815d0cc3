"""Thin connexion handlers: unpack the validated request, call one domain function, return."""
