"""Keyword alerts: rules from ``alerts.yaml`` and the matcher that applies them to articles.

Framework-free; the pipeline calls ``Matcher.match`` per stored article and hands matches to
the alert ledger, which composes mail with ``crawler.mail``.
"""
from crawler.alerts.highlight import excerpt, highlight
from crawler.alerts.matcher import Matcher, RuleMatch, TermHit
from crawler.alerts.rules import Recipient, Rule, TermOptions, load_rules, parse_rules

__all__ = ["Matcher", "RuleMatch", "TermHit", "Recipient", "Rule", "TermOptions", "load_rules",
           "parse_rules", "highlight", "excerpt"]
