/* GENERATED from firmware_bridge/protocol.json by firmware_bridge/tools/gen_protocol.py. Do not edit. */
#include "dms_link_msgs.h"

static void put_u8(uint8_t *p, uint8_t v) { p[0] = v; }
static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v & 0xFFu); p[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v & 0xFFu); p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu); p[3] = (uint8_t)(v >> 24);
}
static uint8_t get_u8(const uint8_t *p) { return p[0]; }
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
/* Two's complement conversions without implementation-defined behaviour. */
static uint8_t from_i8(int8_t v) { return (uint8_t)v; }
static uint16_t from_i16(int16_t v) { return (uint16_t)v; }
static uint32_t from_i32(int32_t v) { return (uint32_t)v; }
static int8_t to_i8(uint8_t v) { return v < 0x80u ? (int8_t)v : (int8_t)((int)v - 0x100); }
static int16_t to_i16(uint16_t v) { return v < 0x8000u ? (int16_t)v : (int16_t)((long)v - 0x10000L); }
static int32_t to_i32(uint32_t v) {
    return v < 0x80000000u ? (int32_t)v : (int32_t)(-(int32_t)(0xFFFFFFFFu - v) - 1);
}

size_t dms_pack_hello(const dms_hello_t *msg, uint8_t *buf, size_t cap)
{
    if (msg == NULL || buf == NULL || cap < DMS_HELLO_SIZE) return 0;
    put_u8(buf + 0, msg->min_version);
    put_u8(buf + 1, msg->max_version);
    put_u8(buf + 2, msg->role);
    put_u8(buf + 3, msg->sw_major);
    put_u8(buf + 4, msg->sw_minor);
    put_u16(buf + 5, msg->heartbeat_period_ms);
    put_u16(buf + 7, msg->heartbeat_timeout_ms);
    return DMS_HELLO_SIZE;
}

int dms_unpack_hello(const uint8_t *buf, size_t len, dms_hello_t *msg)
{
    if (buf == NULL || msg == NULL || len != DMS_HELLO_SIZE) return -1;
    msg->min_version = get_u8(buf + 0);
    msg->max_version = get_u8(buf + 1);
    msg->role = get_u8(buf + 2);
    msg->sw_major = get_u8(buf + 3);
    msg->sw_minor = get_u8(buf + 4);
    msg->heartbeat_period_ms = get_u16(buf + 5);
    msg->heartbeat_timeout_ms = get_u16(buf + 7);
    return 0;
}

size_t dms_pack_hello_ack(const dms_hello_ack_t *msg, uint8_t *buf, size_t cap)
{
    if (msg == NULL || buf == NULL || cap < DMS_HELLO_ACK_SIZE) return 0;
    put_u8(buf + 0, msg->selected_version);
    put_u8(buf + 1, msg->result);
    put_u8(buf + 2, msg->role);
    put_u8(buf + 3, msg->min_version);
    put_u8(buf + 4, msg->max_version);
    return DMS_HELLO_ACK_SIZE;
}

int dms_unpack_hello_ack(const uint8_t *buf, size_t len, dms_hello_ack_t *msg)
{
    if (buf == NULL || msg == NULL || len != DMS_HELLO_ACK_SIZE) return -1;
    msg->selected_version = get_u8(buf + 0);
    msg->result = get_u8(buf + 1);
    msg->role = get_u8(buf + 2);
    msg->min_version = get_u8(buf + 3);
    msg->max_version = get_u8(buf + 4);
    return 0;
}

size_t dms_pack_heartbeat(const dms_heartbeat_t *msg, uint8_t *buf, size_t cap)
{
    if (msg == NULL || buf == NULL || cap < DMS_HEARTBEAT_SIZE) return 0;
    put_u32(buf + 0, msg->uptime_ms);
    put_u8(buf + 4, msg->role);
    put_u8(buf + 5, msg->status);
    put_u16(buf + 6, msg->rx_errors);
    return DMS_HEARTBEAT_SIZE;
}

int dms_unpack_heartbeat(const uint8_t *buf, size_t len, dms_heartbeat_t *msg)
{
    if (buf == NULL || msg == NULL || len != DMS_HEARTBEAT_SIZE) return -1;
    msg->uptime_ms = get_u32(buf + 0);
    msg->role = get_u8(buf + 4);
    msg->status = get_u8(buf + 5);
    msg->rx_errors = get_u16(buf + 6);
    return 0;
}

size_t dms_pack_error(const dms_error_t *msg, uint8_t *buf, size_t cap)
{
    if (msg == NULL || buf == NULL || cap < DMS_ERROR_SIZE) return 0;
    put_u8(buf + 0, msg->code);
    put_u8(buf + 1, msg->ref_type);
    put_u16(buf + 2, msg->ref_seq);
    return DMS_ERROR_SIZE;
}

int dms_unpack_error(const uint8_t *buf, size_t len, dms_error_t *msg)
{
    if (buf == NULL || msg == NULL || len != DMS_ERROR_SIZE) return -1;
    msg->code = get_u8(buf + 0);
    msg->ref_type = get_u8(buf + 1);
    msg->ref_seq = get_u16(buf + 2);
    return 0;
}

size_t dms_pack_driver_state(const dms_driver_state_t *msg, uint8_t *buf, size_t cap)
{
    if (msg == NULL || buf == NULL || cap < DMS_DRIVER_STATE_SIZE) return 0;
    put_u32(buf + 0, msg->t_ms);
    put_u8(buf + 4, msg->alert_level);
    put_u32(buf + 5, msg->alert_flags);
    put_u8(buf + 9, msg->drowsiness_kss_x10);
    put_u8(buf + 10, msg->gaze_zone);
    put_u8(buf + 11, msg->state_flags);
    put_u8(buf + 12, msg->fault_code);
    put_u8(buf + 13, msg->hand_left);
    put_u8(buf + 14, msg->hand_right);
    put_u16(buf + 15, msg->perclos_x1000);
    put_u16(buf + 17, msg->closure_ms);
    put_u16(buf + 19, msg->eyes_off_road_ms);
    put_u16(buf + 21, msg->hands_off_ms);
    return DMS_DRIVER_STATE_SIZE;
}

int dms_unpack_driver_state(const uint8_t *buf, size_t len, dms_driver_state_t *msg)
{
    if (buf == NULL || msg == NULL || len != DMS_DRIVER_STATE_SIZE) return -1;
    msg->t_ms = get_u32(buf + 0);
    msg->alert_level = get_u8(buf + 4);
    msg->alert_flags = get_u32(buf + 5);
    msg->drowsiness_kss_x10 = get_u8(buf + 9);
    msg->gaze_zone = get_u8(buf + 10);
    msg->state_flags = get_u8(buf + 11);
    msg->fault_code = get_u8(buf + 12);
    msg->hand_left = get_u8(buf + 13);
    msg->hand_right = get_u8(buf + 14);
    msg->perclos_x1000 = get_u16(buf + 15);
    msg->closure_ms = get_u16(buf + 17);
    msg->eyes_off_road_ms = get_u16(buf + 19);
    msg->hands_off_ms = get_u16(buf + 21);
    return 0;
}

size_t dms_pack_vehicle_signals(const dms_vehicle_signals_t *msg, uint8_t *buf, size_t cap)
{
    if (msg == NULL || buf == NULL || cap < DMS_VEHICLE_SIGNALS_SIZE) return 0;
    put_u32(buf + 0, msg->t_ms);
    put_u16(buf + 4, msg->speed_kph_x100);
    put_u8(buf + 6, msg->gear);
    put_u8(buf + 7, msg->indicator);
    put_u8(buf + 8, msg->wheel_touch);
    put_u16(buf + 9, from_i16(msg->wheel_torque_nm_x100));
    put_u8(buf + 11, msg->valid_flags);
    return DMS_VEHICLE_SIGNALS_SIZE;
}

int dms_unpack_vehicle_signals(const uint8_t *buf, size_t len, dms_vehicle_signals_t *msg)
{
    if (buf == NULL || msg == NULL || len != DMS_VEHICLE_SIGNALS_SIZE) return -1;
    msg->t_ms = get_u32(buf + 0);
    msg->speed_kph_x100 = get_u16(buf + 4);
    msg->gear = get_u8(buf + 6);
    msg->indicator = get_u8(buf + 7);
    msg->wheel_touch = get_u8(buf + 8);
    msg->wheel_torque_nm_x100 = to_i16(get_u16(buf + 9));
    msg->valid_flags = get_u8(buf + 11);
    return 0;
}

/* Reference every helper once so -Wunused-function stays quiet whatever the field types. */
void dms_link_msgs_helpers_used_(void);
void dms_link_msgs_helpers_used_(void)
{
    uint8_t b[4] = {0, 0, 0, 0};
    put_u8(b, get_u8(b)); put_u16(b, get_u16(b)); put_u32(b, get_u32(b));
    (void)from_i8(to_i8(b[0])); (void)from_i16(to_i16(get_u16(b))); (void)from_i32(to_i32(get_u32(b)));
}

int dms_msg_payload_size(uint8_t msg_type)
{
    switch (msg_type) {
    case DMS_MSG_HELLO: return (int)DMS_HELLO_SIZE;
    case DMS_MSG_HELLO_ACK: return (int)DMS_HELLO_ACK_SIZE;
    case DMS_MSG_HEARTBEAT: return (int)DMS_HEARTBEAT_SIZE;
    case DMS_MSG_ERROR: return (int)DMS_ERROR_SIZE;
    case DMS_MSG_DRIVER_STATE: return (int)DMS_DRIVER_STATE_SIZE;
    case DMS_MSG_VEHICLE_SIGNALS: return (int)DMS_VEHICLE_SIGNALS_SIZE;
    default: return -1;
    }
}

const char *dms_msg_name(uint8_t msg_type)
{
    switch (msg_type) {
    case DMS_MSG_HELLO: return "HELLO";
    case DMS_MSG_HELLO_ACK: return "HELLO_ACK";
    case DMS_MSG_HEARTBEAT: return "HEARTBEAT";
    case DMS_MSG_ERROR: return "ERROR";
    case DMS_MSG_DRIVER_STATE: return "DRIVER_STATE";
    case DMS_MSG_VEHICLE_SIGNALS: return "VEHICLE_SIGNALS";
    default: return "?";
    }
}
