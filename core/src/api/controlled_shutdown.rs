//! ControlledShutdown (key 7), ZooKeeper mode: a broker about to stop asks
//! the controller to move the leadership of its partitions first (Kafka's
//! `KafkaApis.handleControlledShutdownRequest`).
//!
//! The request is not answered here: it is held ([`Reply::Hold`]) and
//! handed to the driver as a [`ControllerAsk`], which gives it to the
//! controller machine when this broker is the controller (NOT_CONTROLLER
//! otherwise) and reports back through
//! `Broker::handle_controller_answer`. Versions 0 and 1 carry no broker
//! epoch (-1: not checked, as Kafka skips the check).

use super::{Handled, Reply};
use crate::coordinator::controller::ControllerAsk;
use crate::protocol::messages::controlled_shutdown_request::ControlledShutdownRequest;

/// Holds the request and asks the controller.
pub(crate) fn handle(req: ControlledShutdownRequest) -> Handled {
    Handled {
        ask: Some(ControllerAsk::ControlledShutdown {
            broker: req.broker_id,
            broker_epoch: req.broker_epoch,
        }),
        ..Handled::reply(Reply::Hold)
    }
}
