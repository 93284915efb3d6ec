# libcollab.mk - build libcollab from a vendored copy of this folder.
#
# In your Makefile:
#
#     COLLAB_DIR   := third_party/libcollab   # optional: defaults to this file's folder
#     COLLAB_BUILD := build/libcollab         # optional: where objects go
#     include third_party/libcollab/libcollab.mk
#
#     app: app.o $(COLLAB_LIB)
#             $(CC) -o $@ app.o $(COLLAB_LIB) $(COLLAB_LDLIBS)
#     app.o: CFLAGS += $(COLLAB_CFLAGS)
#
# It defines COLLAB_SRCS, COLLAB_OBJS, COLLAB_LIB (the archive, a target),
# COLLAB_CFLAGS (language level and include path) and COLLAB_LDLIBS (BearSSL,
# the only run-time dependency). Your CFLAGS are added to the library's
# compile line, so your warning and sanitizer flags apply to it too.

# V=1 shows every command.
Q ?= $(if $(V),,@)

COLLAB_DIR ?= $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
COLLAB_BUILD ?= build/libcollab
COLLAB_LIB ?= $(COLLAB_BUILD)/libcollab.a
COLLAB_OPTFLAGS ?= -O2 -g

COLLAB_SRCS := $(wildcard $(COLLAB_DIR)/src/*.c)
COLLAB_OBJS := $(patsubst $(COLLAB_DIR)/src/%.c,$(COLLAB_BUILD)/%.o,$(COLLAB_SRCS))
COLLAB_CFLAGS := -std=c11 -D_GNU_SOURCE -I$(COLLAB_DIR)/include
COLLAB_LDLIBS := -lbearssl

$(COLLAB_BUILD)/%.o: $(COLLAB_DIR)/src/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(COLLAB_CFLAGS) $(COLLAB_OPTFLAGS) $(CFLAGS) -I$(COLLAB_DIR)/src -MMD -MP -c $< -o $@

$(COLLAB_LIB): $(COLLAB_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@echo "  AR    $@"
	$(Q)$(AR) rcs $@ $^

-include $(COLLAB_OBJS:.o=.d)
