# async_impl/: the libev server, one loop, one task per connection.
PROGRAMS += $(BIN)/async_server
$(BIN)/async_server: $(call obj,$(wildcard async_impl/*.c)) $(COMMON_OBJ)
$(BIN)/async_server: LDLIBS += -luring # --file-io uring
