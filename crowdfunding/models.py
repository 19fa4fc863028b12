"""Crowdfunding: reward and equity campaigns (issue: crowdfunding). Nothing here yet."""
