"""The retail support desk: its records, its tools and who owns what."""

from tether.retail.db import RetailDB, UnitOfWork
from tether.retail.ownership import RetailOwnership
from tether.retail.tools import RetailTools, build_tools

__all__ = ["RetailDB", "RetailOwnership", "RetailTools", "UnitOfWork", "build_tools"]
