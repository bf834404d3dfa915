# directord — build, test, lab, install. `make check` is what CI runs; `make demo` shows the product in the lab.
SWIFT    ?= swift
PREFIX   ?= /usr/local
DESTDIR  ?=
SYSCONFDIR ?= /etc
BINDIR   := $(DESTDIR)$(PREFIX)/bin
SBINDIR  := $(DESTDIR)$(PREFIX)/sbin
MANDIR   := $(DESTDIR)$(PREFIX)/share/man
UNITDIR  ?= $(DESTDIR)$(PREFIX)/lib/systemd/system
CONFDIR  := $(DESTDIR)$(SYSCONFDIR)/directord

.PHONY: all deps build test lab lab-extended check demo fuzz bench install uninstall man-lint clean

all: build

deps:
	@Tests/tools/install-deps

build: deps
	$(SWIFT) build

# Unit tests only (no VM).
test: deps
	@Tests/tools/unit-tests

# Every lab scenario, one VM boot each.
lab: build
	@Tests/Lab/run-all

# The scenarios kept out of make check for time (Tests/Lab/extended/README.md says what covers them there).
lab-extended: build
	@Tests/Lab/run-all Tests/Lab/extended/*.sh; lab=$$?; Tests/Bench/bench --smoke; bench=$$?; [ $$lab -eq 0 ] && [ $$bench -eq 0 ]

man-lint: deps
	@Tests/tools/man-lint

# The whole suite: dependencies, build, unit tests, man pages, lab scenarios, one summary line.
check: deps
	@Tests/tools/check

# The main job, narrated, in the lab: the seed's LVS-NAT pair through failures, failover and return.
demo: build
	@Tests/Lab/lab run Tests/Lab/scenarios/seed-lvs-nat.sh

# libFuzzer over the configuration parser and the VRRP advert decoder (FUZZ_SECONDS each, default 60).
fuzz:
	@Tests/Fuzz/run-config-fuzz.sh
	@Tests/Fuzz/run-advert-fuzz.sh
	@Tests/Fuzz/run-http-fuzz.sh

# Benchmarks in the lab (release build, ~20 min under TCG): writes BENCHMARKS.md. `Tests/Bench/bench --smoke` is the quick run.
bench: deps
	@Tests/Bench/bench

install: deps
	$(SWIFT) build -c release --static-swift-stdlib
	install -d $(SBINDIR) $(BINDIR) $(MANDIR)/man8 $(MANDIR)/man5 $(UNITDIR) $(CONFDIR)/conf.d
	install -m 0755 .build/release/directord $(SBINDIR)/directord
	install -m 0755 .build/release/directorctl $(BINDIR)/directorctl
	install -m 0644 man/directord.8 man/directorctl.8 $(MANDIR)/man8/
	install -m 0644 man/directord.conf.5 $(MANDIR)/man5/
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' dist/directord.service > $(UNITDIR)/directord.service
	chmod 0644 $(UNITDIR)/directord.service
	@# Never overwrite an operator's configuration.
	@[ -e $(CONFDIR)/directord.conf ] || install -m 0644 dist/directord.conf $(CONFDIR)/directord.conf
	@for f in conf.d/*.conf; do \
		[ -e $(CONFDIR)/$$f ] || install -m 0644 $$f $(CONFDIR)/$$f; \
	done

uninstall:
	rm -f $(SBINDIR)/directord $(BINDIR)/directorctl $(MANDIR)/man8/directord.8 $(MANDIR)/man8/directorctl.8 \
		$(MANDIR)/man5/directord.conf.5 $(UNITDIR)/directord.service

clean:
	rm -rf .build lab-out
