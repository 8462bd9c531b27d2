# async_impl/: the libev server, one loop, one task per connection.
PROGRAMS += $(BIN)/async_server
$(BIN)/async_server: $(call obj,$(wildcard async_impl/*.c)) $(COMMON_OBJ)
$(BIN)/async_server: LDLIBS += -luring # --file-io uring

# tests/unit/test_buffers checks the buffer policy without sockets: its modules linked in.
$(BUILD)/tests/unit/test_buffers: $(call obj,async_impl/buffers.c async_impl/spares.c)
