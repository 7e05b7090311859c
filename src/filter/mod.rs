//! Message filters evaluated by the broker on pull: [`sql92`] is RocketMQ's SQL92 selector
//! (`MessageSelector.bySql`), enabled by `enablePropertyFilter`.

pub mod sql92;
