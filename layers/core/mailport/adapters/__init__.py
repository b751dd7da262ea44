"""Adapters: the ports implemented on AWS services and mail protocols."""
