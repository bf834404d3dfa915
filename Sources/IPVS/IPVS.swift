// IPVS: the table model, the reconciler, the generic-netlink codec and the libnl-backed kernel table.
import CNetlink
