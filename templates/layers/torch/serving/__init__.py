"""The model server of the custom serving container: the trained model behind Vertex AI's HTTP contract."""
