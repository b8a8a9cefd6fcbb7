# c360 build. Plain make, strict warnings, no vendored code.
#
#   make              release build   -> build/c360
#   make SAN=1        ASan+UBSan      -> build-san/c360
#   make unit         unit tests (cmocka), sanitized
#   make test         unit + end-to-end tests, sanitized (what CI runs)
#   make bench        benchmarks (bench/run)
#   V=1               show compiler command lines

CC      ?= cc
PKGS    := rocksdb libh2o-evloop libsodium yaml-0.1 libcurl rdkafka sqlite3 openssl libpq zlib
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
               -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifeq ($(SAN),1)
BUILD   ?= build-san
CFLAGS  := $(CFLAGS_BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS := -fsanitize=address,undefined
else
BUILD   ?= build
CFLAGS  := $(CFLAGS_BASE) -O2 -g
LDFLAGS :=
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

SRCS      := $(shell find src -name '*.c' | sort)
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
OBJS      += $(BUILD)/gen/console_assets.o   # the web console, built in (tools/embed.c)
LIB_OBJS  := $(filter-out $(BUILD)/src/cli/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all unit unit-run test e2e e2e-run bench clean
all: $(BUILD)/c360

$(BUILD)/c360: $(OBJS)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the web console (console/*) as a C source with a lookup table (docs/CONSOLE.md)
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/console_assets.c: $(BUILD)/tools/embed $(shell find console 2>/dev/null)
	@mkdir -p $(dir $@)
	@echo "  EMBED console/"
	$(Q)$(BUILD)/tools/embed console $@

$(BUILD)/gen/console_assets.o: $(BUILD)/gen/console_assets.c
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

unit:
	$(MAKE) SAN=1 unit-run

unit-run: $(BUILD)/c360 $(UNIT_BINS)
	scripts/run-unit $(BUILD)/tests

e2e:
	$(MAKE) SAN=1 e2e-run

e2e-run: $(BUILD)/c360
	C360_BIN=$(abspath $(BUILD))/c360 scripts/run-e2e

test: unit e2e

bench: all
	bench/run

clean:
	rm -rf build build-san

-include $(OBJS:.o=.d)
