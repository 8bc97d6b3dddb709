"""The capacity guard: each upstream call admitted within Cloudant's capacity and its caller's quota."""
