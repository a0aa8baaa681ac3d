/* GENERATED from firmware_bridge/protocol.json by firmware_bridge/tools/gen_protocol.py. Do not edit. */
/* DMS <-> ECU link: message ids, enums, bit masks, payload structs and pack/unpack (C99, no malloc). */
#ifndef DMS_LINK_MSGS_H
#define DMS_LINK_MSGS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DMS_PROTO_VERSION_MIN 1u
#define DMS_PROTO_VERSION_MAX 1u
#define DMS_HEADER_SIZE 5u
#define DMS_CRC_SIZE 2u
#define DMS_MAX_PAYLOAD 64u
#define DMS_MAX_RAW_FRAME 71u  /* header+payload+crc */
#define DMS_MAX_ENCODED_FRAME 72u  /* COBS-encoded, without the 0x00 delimiter */

#define DMS_LINK_HEARTBEAT_PERIOD_MS 200u
#define DMS_LINK_HEARTBEAT_TIMEOUT_MS 1000u
#define DMS_LINK_HELLO_RETRY_MS 500u
#define DMS_LINK_DRIVER_STATE_RATE_HZ 10u
#define DMS_LINK_VEHICLE_SIGNALS_RATE_HZ 20u

/* Message type ids */
#define DMS_MSG_HELLO 1u
#define DMS_MSG_HELLO_ACK 2u
#define DMS_MSG_HEARTBEAT 3u
#define DMS_MSG_ERROR 4u
#define DMS_MSG_DRIVER_STATE 16u
#define DMS_MSG_VEHICLE_SIGNALS 32u

/* enum role: Which end of the link sent the frame. */
#define DMS_ROLE_DMS 1u
#define DMS_ROLE_ECU 2u

/* enum hello_result: Outcome of version negotiation. */
#define DMS_HELLO_RESULT_OK 0u
#define DMS_HELLO_RESULT_NO_COMMON_VERSION 1u

/* enum error_code: Why a frame with a valid CRC was rejected. */
#define DMS_ERROR_CODE_UNKNOWN_TYPE 1u
#define DMS_ERROR_CODE_BAD_LENGTH 2u
#define DMS_ERROR_CODE_NOT_NEGOTIATED 3u
#define DMS_ERROR_CODE_UNSUPPORTED_VERSION 4u

/* enum alert_level: Escalation ladder, dms.contracts.AlertLevel. */
#define DMS_ALERT_LEVEL_NONE 0u
#define DMS_ALERT_LEVEL_INFO 1u
#define DMS_ALERT_LEVEL_CAUTION 2u
#define DMS_ALERT_LEVEL_WARNING 3u
#define DMS_ALERT_LEVEL_CRITICAL 4u

/* enum fault_code: Why a driver state is not valid, dms.contracts.FaultCode (append only). */
#define DMS_FAULT_CODE_OK 0u
#define DMS_FAULT_CODE_NO_FACE 1u
#define DMS_FAULT_CODE_FACE_OCCLUDED 2u
#define DMS_FAULT_CODE_SUNGLASSES_OPAQUE 3u
#define DMS_FAULT_CODE_CAMERA_FAULT 4u
#define DMS_FAULT_CODE_LOW_CONFIDENCE 5u
#define DMS_FAULT_CODE_MODEL_ERROR 6u
#define DMS_FAULT_CODE_BAD_FRAME 7u
#define DMS_FAULT_CODE_CALIBRATING 8u
#define DMS_FAULT_CODE_NOT_STARTED 9u
#define DMS_FAULT_CODE_ECU_LINK_LOST 10u

/* enum alert_type: Alert flag bit positions, dms.contracts.AlertType.bit. */
#define DMS_ALERT_TYPE_DISTRACTION_LONG 0u
#define DMS_ALERT_TYPE_DISTRACTION_VATS 1u
#define DMS_ALERT_TYPE_PHONE_USE 2u
#define DMS_ALERT_TYPE_DROWSINESS 3u
#define DMS_ALERT_TYPE_MICROSLEEP 4u
#define DMS_ALERT_TYPE_SLEEP 5u
#define DMS_ALERT_TYPE_UNRESPONSIVE 6u
#define DMS_ALERT_TYPE_HANDS_OFF 7u
#define DMS_ALERT_TYPE_YAWNING 8u
#define DMS_ALERT_TYPE_MONITORING_UNAVAILABLE 9u

/* enum gaze_zone: Where the driver looks, dms.contracts.GazeZone (string enum in contracts, stable ids here). */
#define DMS_GAZE_ZONE_UNKNOWN 0u
#define DMS_GAZE_ZONE_ROAD 1u
#define DMS_GAZE_ZONE_LEFT_MIRROR 2u
#define DMS_GAZE_ZONE_RIGHT_MIRROR 3u
#define DMS_GAZE_ZONE_REARVIEW_MIRROR 4u
#define DMS_GAZE_ZONE_CLUSTER 5u
#define DMS_GAZE_ZONE_INFOTAINMENT 6u
#define DMS_GAZE_ZONE_LAP_PHONE 7u
#define DMS_GAZE_ZONE_PASSENGER 8u
#define DMS_GAZE_ZONE_OTHER 9u

/* enum hand_state: What a hand is doing, dms.contracts.HandState (string enum in contracts, stable ids here). */
#define DMS_HAND_STATE_UNKNOWN 0u
#define DMS_HAND_STATE_ON_WHEEL 1u
#define DMS_HAND_STATE_LAP 2u
#define DMS_HAND_STATE_GEAR_LEVER 3u
#define DMS_HAND_STATE_FACE 4u
#define DMS_HAND_STATE_PHONE_EAR 5u
#define DMS_HAND_STATE_TEXTING 6u
#define DMS_HAND_STATE_DRINKING 7u
#define DMS_HAND_STATE_OTHER 8u

/* enum gear: Gear selector, dms.contracts.vehicle.Gear. */
#define DMS_GEAR_UNKNOWN 0u
#define DMS_GEAR_PARK 1u
#define DMS_GEAR_REVERSE 2u
#define DMS_GEAR_NEUTRAL 3u
#define DMS_GEAR_DRIVE 4u

/* enum indicator: Turn indicator, dms.contracts.vehicle.Indicator. */
#define DMS_INDICATOR_OFF 0u
#define DMS_INDICATOR_LEFT 1u
#define DMS_INDICATOR_RIGHT 2u
#define DMS_INDICATOR_HAZARD 3u

/* bitfield heartbeat_status */
#define DMS_HEARTBEAT_STATUS_NEGOTIATED (1u << 0)
#define DMS_HEARTBEAT_STATUS_PEER_ALIVE (1u << 1)
#define DMS_HEARTBEAT_STATUS_FAULT (1u << 2)

/* bitfield state_flags */
#define DMS_STATE_FLAGS_VALID (1u << 0)
#define DMS_STATE_FLAGS_EYES_CLOSED (1u << 1)
#define DMS_STATE_FLAGS_PHONE_USE (1u << 2)
#define DMS_STATE_FLAGS_CALIBRATED (1u << 3)

/* bitfield vehicle_valid */
#define DMS_VEHICLE_VALID_SPEED (1u << 0)
#define DMS_VEHICLE_VALID_GEAR (1u << 1)
#define DMS_VEHICLE_VALID_INDICATOR (1u << 2)
#define DMS_VEHICLE_VALID_WHEEL_TOUCH (1u << 3)
#define DMS_VEHICLE_VALID_WHEEL_TORQUE (1u << 4)

/* HELLO (id 1, both): 9 payload bytes */
#define DMS_HELLO_SIZE 9u
typedef struct {
    uint8_t min_version;  /* lowest protocol version the sender supports */
    uint8_t max_version;  /* highest protocol version the sender supports */
    uint8_t role;  /* sender role */
    uint8_t sw_major;  /* sender software major version (informational) */
    uint8_t sw_minor;  /* sender software minor version (informational) */
    uint16_t heartbeat_period_ms;  /* [ms] how often the sender sends HEARTBEAT */
    uint16_t heartbeat_timeout_ms;  /* [ms] silence after which the sender declares the peer lost */
} dms_hello_t;
/* Writes DMS_HELLO_SIZE bytes; returns that size, or 0 if cap is too small. */
size_t dms_pack_hello(const dms_hello_t *msg, uint8_t *buf, size_t cap);
/* Returns 0, or -1 if len != DMS_HELLO_SIZE (msg untouched). */
int dms_unpack_hello(const uint8_t *buf, size_t len, dms_hello_t *msg);

/* HELLO_ACK (id 2, both): 5 payload bytes */
#define DMS_HELLO_ACK_SIZE 5u
typedef struct {
    uint8_t selected_version;  /* negotiated version, 0 = none */
    uint8_t result;  /* negotiation outcome */
    uint8_t role;  /* sender role */
    uint8_t min_version;  /* lowest version the sender supports */
    uint8_t max_version;  /* highest version the sender supports */
} dms_hello_ack_t;
/* Writes DMS_HELLO_ACK_SIZE bytes; returns that size, or 0 if cap is too small. */
size_t dms_pack_hello_ack(const dms_hello_ack_t *msg, uint8_t *buf, size_t cap);
/* Returns 0, or -1 if len != DMS_HELLO_ACK_SIZE (msg untouched). */
int dms_unpack_hello_ack(const uint8_t *buf, size_t len, dms_hello_ack_t *msg);

/* HEARTBEAT (id 3, both): 8 payload bytes */
#define DMS_HEARTBEAT_SIZE 8u
typedef struct {
    uint32_t uptime_ms;  /* [ms] sender monotonic time, wraps at 2^32 */
    uint8_t role;  /* sender role */
    uint8_t status;  /* sender link status bits */
    uint16_t rx_errors;  /* [frames] bad frames received by the sender since start (saturates at 65535) */
} dms_heartbeat_t;
/* Writes DMS_HEARTBEAT_SIZE bytes; returns that size, or 0 if cap is too small. */
size_t dms_pack_heartbeat(const dms_heartbeat_t *msg, uint8_t *buf, size_t cap);
/* Returns 0, or -1 if len != DMS_HEARTBEAT_SIZE (msg untouched). */
int dms_unpack_heartbeat(const uint8_t *buf, size_t len, dms_heartbeat_t *msg);

/* ERROR (id 4, both): 4 payload bytes */
#define DMS_ERROR_SIZE 4u
typedef struct {
    uint8_t code;  /* why the frame was rejected */
    uint8_t ref_type;  /* msg_type of the rejected frame */
    uint16_t ref_seq;  /* seq of the rejected frame */
} dms_error_t;
/* Writes DMS_ERROR_SIZE bytes; returns that size, or 0 if cap is too small. */
size_t dms_pack_error(const dms_error_t *msg, uint8_t *buf, size_t cap);
/* Returns 0, or -1 if len != DMS_ERROR_SIZE (msg untouched). */
int dms_unpack_error(const uint8_t *buf, size_t len, dms_error_t *msg);

/* DRIVER_STATE (id 16, dms_to_ecu): 23 payload bytes */
#define DMS_DRIVER_STATE_SIZE 23u
typedef struct {
    uint32_t t_ms;  /* [ms] DMS capture timestamp of the state (DriverState.t_ns // 1e6, wraps at 2^32) */
    uint8_t alert_level;  /* highest active alert level */
    uint32_t alert_flags;  /* active alerts: bit n set = alert_type id n active */
    uint8_t drowsiness_kss_x10;  /* [KSS] KSS-like drowsiness 1.0..9.0 x 10 (10..90); 0 = unknown */
    uint8_t gaze_zone;  /* current gaze zone */
    uint8_t state_flags;  /* validity and boolean states */
    uint8_t fault_code;  /* why the state is not valid (0 when valid) */
    uint8_t hand_left;  /* driver's left hand */
    uint8_t hand_right;  /* driver's right hand */
    uint16_t perclos_x1000;  /* [fraction] PERCLOS (P80, rolling window) 0..1 x 1000; 65535 = unknown */
    uint16_t closure_ms;  /* [ms] current continuous eye closure (saturates at 65535) */
    uint16_t eyes_off_road_ms;  /* [ms] current continuous glance away from the road (saturates at 65535) */
    uint16_t hands_off_ms;  /* [ms] current continuous hands-off-wheel time (saturates at 65535) */
} dms_driver_state_t;
/* Writes DMS_DRIVER_STATE_SIZE bytes; returns that size, or 0 if cap is too small. */
size_t dms_pack_driver_state(const dms_driver_state_t *msg, uint8_t *buf, size_t cap);
/* Returns 0, or -1 if len != DMS_DRIVER_STATE_SIZE (msg untouched). */
int dms_unpack_driver_state(const uint8_t *buf, size_t len, dms_driver_state_t *msg);

/* VEHICLE_SIGNALS (id 32, ecu_to_dms): 12 payload bytes */
#define DMS_VEHICLE_SIGNALS_SIZE 12u
typedef struct {
    uint32_t t_ms;  /* [ms] ECU timestamp (wraps at 2^32); the DMS stamps received signals with its own receive time */
    uint16_t speed_kph_x100;  /* [km/h] vehicle speed, 0.01 km/h (0..655.35 km/h) */
    uint8_t gear;  /* gear selector */
    uint8_t indicator;  /* turn indicator */
    uint8_t wheel_touch;  /* [bool] 1 = hands detected on the wheel rim (capacitive sensor), 0 = not */
    int16_t wheel_torque_nm_x100;  /* [N*m] driver steering torque, 0.01 N*m, signed */
    uint8_t valid_flags;  /* which of the signals above are valid */
} dms_vehicle_signals_t;
/* Writes DMS_VEHICLE_SIGNALS_SIZE bytes; returns that size, or 0 if cap is too small. */
size_t dms_pack_vehicle_signals(const dms_vehicle_signals_t *msg, uint8_t *buf, size_t cap);
/* Returns 0, or -1 if len != DMS_VEHICLE_SIGNALS_SIZE (msg untouched). */
int dms_unpack_vehicle_signals(const uint8_t *buf, size_t len, dms_vehicle_signals_t *msg);

/* Payload size of a message type, or -1 if the type is unknown. */
int dms_msg_payload_size(uint8_t msg_type);
/* Name of a message type ("?" if unknown). */
const char *dms_msg_name(uint8_t msg_type);

#ifdef __cplusplus
}
#endif
#endif /* DMS_LINK_MSGS_H */
