-- Train the LOGISTIC_REG model on every column of the table; the label is `churned`.
CREATE OR REPLACE MODEL `acme-analytics.churn_bqml.model`
OPTIONS (
  model_type = 'LOGISTIC_REG',
  input_label_cols = ['churned'],
  data_split_method = 'AUTO_SPLIT',
  auto_class_weights = TRUE,
  enable_global_explain = TRUE
) AS
SELECT *
FROM `acme-analytics.churn_bqml.training_data`;
