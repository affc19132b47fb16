//! STIX 2.1 export of findings (being written).
