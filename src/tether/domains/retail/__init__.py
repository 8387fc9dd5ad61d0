"""The retail support desk: its records, its tools and who owns what."""

from tether.domains.retail.db import RetailDB, UnitOfWork
from tether.domains.retail.ownership import RetailOwnership
from tether.domains.retail.tools import RetailTools, build_tools

__all__ = ["RetailDB", "RetailOwnership", "RetailTools", "UnitOfWork", "build_tools"]
