# Installing wfhookd, the Debian package, and the deployment checks (docs/deployment.md).
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SBINDIR=] [MANDIR=] ...
#   make uninstall                  the same variables
#   make deb                        build/deb/wfhookd_$(VERSION)_ARCH.deb (dpkg-buildpackage)
#   make check-deploy               check-systemd check-nginx check-install
#
# Configuration files are never overwritten: when $(SYSCONFDIR)/wfhookd/wfhookd.conf or the
# nginx site already exist, the new version is installed beside them as FILE.dist. `make
# uninstall` removes everything `make install` put in place except configuration files that
# differ from the shipped ones (and the API key file, which install never creates).

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/wfhookd
EXAMPLESDIR ?= $(DATADIR)/wfhookd/examples
SYSCONFDIR ?= /etc
NGINXCONFDIR ?= $(SYSCONFDIR)/nginx
ifeq ($(origin SYSTEMDUNITDIR),undefined)
SYSTEMDUNITDIR := $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
endif
INSTALL ?= install
INSTALL_PROGRAM ?= $(INSTALL) -m 0755
INSTALL_DATA ?= $(INSTALL) -m 0644

# The files in the tree name the Debian paths (/usr/sbin, /etc, /usr/share); installing
# elsewhere rewrites them.
INSTALL_SUBST := sed -e 's|/usr/sbin/wfhookd|$(SBINDIR)/wfhookd|g' \
	-e 's|/etc/wfhookd/|$(SYSCONFDIR)/wfhookd/|g' \
	-e 's|/usr/share/wfhookd/examples|$(EXAMPLESDIR)|g' \
	-e 's|/usr/share/doc/wfhookd|$(DOCDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g'

INSTALL_EXAMPLES := examples/archive examples/journal
INSTALL_DOCS := docs/deployment.md docs/configuration.md docs/actions.md
NGINX_SNIPPETS := wfhookd-fastcgi.conf wfhookd-locations.conf wfhookd-errors.conf \
	wfhookd-oauth2.conf
INSTALL_TMP := $(BUILD)/install

.PHONY: install uninstall deb check-deploy check-systemd check-nginx check-install

# $(call install-config,SOURCE,DEST): install SOURCE (after INSTALL_SUBST) as DEST unless DEST
# exists; then as DEST.dist, unless DEST is already identical.
define install-config
	@mkdir -p $(INSTALL_TMP) && $(INSTALL_SUBST) $(1) >$(INSTALL_TMP)/$(notdir $(1)).new
	@if [ ! -e "$(DESTDIR)$(2)" ]; then \
	    echo "  INSTALL $(DESTDIR)$(2)"; \
	    $(INSTALL_DATA) $(INSTALL_TMP)/$(notdir $(1)).new "$(DESTDIR)$(2)"; \
	elif cmp -s $(INSTALL_TMP)/$(notdir $(1)).new "$(DESTDIR)$(2)"; then \
	    echo "  KEEP    $(DESTDIR)$(2) (unchanged)"; rm -f "$(DESTDIR)$(2).dist"; \
	else \
	    echo "  KEEP    $(DESTDIR)$(2) (yours); the shipped version is $(DESTDIR)$(2).dist"; \
	    $(INSTALL_DATA) $(INSTALL_TMP)/$(notdir $(1)).new "$(DESTDIR)$(2).dist"; \
	fi
endef

# $(call uninstall-config,SOURCE,DEST): remove DEST only if it is still the shipped version.
define uninstall-config
	@mkdir -p $(INSTALL_TMP) && $(INSTALL_SUBST) $(1) >$(INSTALL_TMP)/$(notdir $(1)).new
	@rm -f "$(DESTDIR)$(2).dist"
	@if [ -e "$(DESTDIR)$(2)" ]; then \
	    if cmp -s $(INSTALL_TMP)/$(notdir $(1)).new "$(DESTDIR)$(2)"; then \
	        echo "  RM      $(DESTDIR)$(2)"; rm -f "$(DESTDIR)$(2)"; \
	    else echo "  KEEP    $(DESTDIR)$(2) (changed by you)"; fi; \
	fi
endef

install: $(BUILD)/wfhookd
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(EXAMPLESDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/wfhookd \
		$(DESTDIR)$(NGINXCONFDIR)/sites-available $(DESTDIR)$(NGINXCONFDIR)/snippets
	$(INSTALL_PROGRAM) $(BUILD)/wfhookd $(DESTDIR)$(SBINDIR)/wfhookd
	@mkdir -p $(INSTALL_TMP)
	@for f in systemd/wfhookd.socket systemd/wfhookd.service man/wfhookd.8; do \
	    $(INSTALL_SUBST) $$f >$(INSTALL_TMP)/$${f##*/} || exit 1; done
	$(INSTALL_DATA) $(INSTALL_TMP)/wfhookd.socket $(INSTALL_TMP)/wfhookd.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/
	$(INSTALL_DATA) $(INSTALL_TMP)/wfhookd.8 $(DESTDIR)$(MANDIR)/man8/wfhookd.8
	$(INSTALL_PROGRAM) $(INSTALL_EXAMPLES) $(DESTDIR)$(EXAMPLESDIR)/
	$(INSTALL_DATA) $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL_DATA) $(addprefix nginx/,$(NGINX_SNIPPETS)) $(DESTDIR)$(NGINXCONFDIR)/snippets/
	$(call install-config,etc/wfhookd.conf,$(SYSCONFDIR)/wfhookd/wfhookd.conf)
	$(call install-config,nginx/wfhookd.conf,$(NGINXCONFDIR)/sites-available/wfhookd.conf)
	@[ -e "$(DESTDIR)$(SYSCONFDIR)/wfhookd/api-keys" ] || \
	    echo "  NOTE    no $(DESTDIR)$(SYSCONFDIR)/wfhookd/api-keys yet: docs/deployment.md shows how to create it"
	@# The link secret: made on the machine itself (never in a staged DESTDIR, a package).
	@if [ -z "$(DESTDIR)" ] && [ ! -e "$(SYSCONFDIR)/wfhookd/link-secret" ]; then \
	    echo "  CREATE  $(SYSCONFDIR)/wfhookd/link-secret (random, mode 0640)"; \
	    (umask 027 && head -c 48 /dev/urandom | base64 >"$(SYSCONFDIR)/wfhookd/link-secret") && \
	    { getent group wfhookd >/dev/null && chgrp wfhookd "$(SYSCONFDIR)/wfhookd/link-secret" || true; }; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ ! -e "$(SYSCONFDIR)/wfhookd/oauth2-client-secret" ]; then \
	    echo "  CREATE  $(SYSCONFDIR)/wfhookd/oauth2-client-secret (random, mode 0640)"; \
	    (umask 027 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' \
	        >"$(SYSCONFDIR)/wfhookd/oauth2-client-secret") && \
	    { getent group wfhookd >/dev/null && chgrp wfhookd "$(SYSCONFDIR)/wfhookd/oauth2-client-secret" || true; }; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ ! -e "$(SYSCONFDIR)/wfhookd/htpasswd" ]; then \
	    echo "  CREATE  $(SYSCONFDIR)/wfhookd/htpasswd (empty: add the people who may connect Workfront)"; \
	    install -m 0640 /dev/null "$(SYSCONFDIR)/wfhookd/htpasswd" && \
	    { getent group www-data >/dev/null && chgrp www-data "$(SYSCONFDIR)/wfhookd/htpasswd" || true; }; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/wfhookd $(DESTDIR)$(MANDIR)/man8/wfhookd.8 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/wfhookd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/wfhookd.service \
		$(addprefix $(DESTDIR)$(EXAMPLESDIR)/,$(notdir $(INSTALL_EXAMPLES))) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INSTALL_DOCS))) \
		$(addprefix $(DESTDIR)$(NGINXCONFDIR)/snippets/,$(NGINX_SNIPPETS))
	$(call uninstall-config,etc/wfhookd.conf,$(SYSCONFDIR)/wfhookd/wfhookd.conf)
	$(call uninstall-config,nginx/wfhookd.conf,$(NGINXCONFDIR)/sites-available/wfhookd.conf)
	-@rmdir $(DESTDIR)$(EXAMPLESDIR) $(DESTDIR)$(DATADIR)/wfhookd $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/wfhookd 2>/dev/null || true
	@[ ! -e "$(DESTDIR)$(NGINXCONFDIR)/sites-enabled/wfhookd.conf" ] || \
	    echo "  NOTE    $(DESTDIR)$(NGINXCONFDIR)/sites-enabled/wfhookd.conf is still enabled"

# The Debian package, built by dpkg-buildpackage (which runs `make test`) from a copy of the
# tree, so that the package's `make distclean` never touches this build or .run/.
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_OUT := build/deb
DEB_SRC := $(DEB_OUT)/wfhookd-$(VERSION)
deb:
	@scripts/install-deps deb
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = "$(VERSION)" ] || \
	    { echo "debian/changelog says $$v but VERSION says $(VERSION): add a changelog entry (dch -v $(VERSION))" >&2; exit 1; }
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./build --exclude=./.run --exclude=./.git --exclude=./bench/results \
		--exclude=./debian/wfhookd --exclude=./debian/tmp --exclude=./debian/.debhelper . \
		| tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b -jauto
	@echo "built $(DEB_OUT)/wfhookd_$(VERSION)_$(DEB_ARCH).deb"

# Deployment checks that need no package: the systemd units (syntax and sandbox score), the
# nginx site (nginx -t with a test certificate) and make install/uninstall.
check-deploy: check-systemd check-nginx check-install

check-systemd: $(BUILD)/wfhookd
	@tests/deploy/check-systemd $(BUILD)

check-nginx:
	@tests/deploy/check-nginx

check-install: $(BUILD)/wfhookd
	@tests/deploy/check-install $(BUILD)

# `make run`'s demo JPEG (scripts/demo_image.cpp).
$(BUILD)/tools/demo_image: scripts/demo_image.cpp
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(WF_CPPFLAGS) $(CPPFLAGS) $(WF_CXXFLAGS) $(CXXFLAGS) $< $(WF_LDFLAGS) $(LDFLAGS) $(LIBS) -o $@
