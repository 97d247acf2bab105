"""Chavder's Scrapy project and framework-free domain modules."""
