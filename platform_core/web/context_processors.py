"""Navigation by role: each role sees the links that concern it."""

from platform_core.accounts.models import Role


def navigation(request):
    user = getattr(request, "user", None)
    links = [
        ("Home", "home"),
        ("Campaigns", "crowdfunding:campaign-list"),
        ("Loans", "p2p:loan-list"),
        ("Disclosures", "disclosures-public"),
    ]
    if user is not None and user.is_authenticated:
        if user.role in (Role.INVESTOR, Role.INSTITUTIONAL_INVESTOR):
            links.append(("My pledges", "crowdfunding:pledge-list"))
            links.append(("Portfolio", "p2p:portfolio"))
        elif user.role == Role.SME:
            links.append(("My campaigns", "crowdfunding:campaign-mine"))
            links.append(("My loans", "p2p:loan-mine"))
        if user.role in (Role.SME, Role.CORE_ENTERPRISE, Role.FUNDER, Role.REGULATOR, Role.OPERATOR) or user.is_superuser:
            links.append(("Supply chain", "supplychain:dashboard"))
        if user.role in (Role.REGULATOR, Role.OPERATOR) or user.is_superuser:
            links.append(("Admin", "admin:index"))
        else:
            links.append(("Wallet", "wallet"))
    return {"nav_links": links}
